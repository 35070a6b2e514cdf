"use client";

import { useCallback, useRef, useState } from "react";
import { formErrorsFrom, hasErrors, type FormErrors } from "@/lib/errors";

/**
 * A form's submit state: pending while the request is in flight (a second submit meanwhile is
 * ignored, even before React re-renders the disabled button), and the API's errors mapped onto the
 * form's fields. After a failed submit, focus moves to the first invalid field, or to the alert.
 */
export function useFormSubmit<F extends string>(fieldMap: Record<string, F>, fieldOrder: readonly F[]) {
  const [pending, setPending] = useState(false);
  const [errors, setErrors] = useState<FormErrors<F>>({ fields: {}, general: [] });
  const inFlight = useRef(false);
  const alertRef = useRef<HTMLDivElement>(null);
  const formRef = useRef<HTMLFormElement>(null);

  const submit = useCallback(
    async (action: () => Promise<void>): Promise<boolean> => {
      if (inFlight.current) return false;
      inFlight.current = true;
      setPending(true);
      setErrors({ fields: {}, general: [] });
      try {
        await action();
        return true;
      } catch (error) {
        const next = formErrorsFrom(error, fieldMap);
        setErrors(next);
        if (hasErrors(next)) {
          // Let React render the messages first, then move focus to where the problem is.
          setTimeout(() => {
            const first = fieldOrder.find((f) => (next.fields[f]?.length ?? 0) > 0);
            const input = first ? formRef.current?.querySelector<HTMLInputElement>(`[name="${first}"]`) : null;
            if (input) input.focus();
            else alertRef.current?.focus();
          }, 0);
        }
        return false;
      } finally {
        inFlight.current = false;
        setPending(false);
      }
    },
    [fieldMap, fieldOrder],
  );

  return { pending, errors, submit, alertRef, formRef };
}
