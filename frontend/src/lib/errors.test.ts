import { describe, expect, it } from "vitest";
import { ApiError, NetworkError, formErrorsFrom, isEmailNotVerified, mapApiErrors } from "./errors";

describe("mapApiErrors", () => {
  it("maps nested DRF errors onto form fields and the rest to the alert", () => {
    const body = {
      username: ["A user with that username already exists."],
      password: ["This password is too short. It must contain at least 8 characters.", "This password is too common."],
      profile: { phone: ["Ensure this field has no more than 20 characters."] },
      non_field_errors: ["Something about the whole form."],
    };
    const errors = mapApiErrors(body, { username: "username", password: "password", "profile.phone": "phone" });
    expect(errors.fields).toEqual({
      username: ["A user with that username already exists."],
      password: [
        "This password is too short. It must contain at least 8 characters.",
        "This password is too common.",
      ],
      phone: ["Ensure this field has no more than 20 characters."],
    });
    expect(errors.general).toEqual(["Something about the whole form."]);
  });

  it("maps user.email for the profile form", () => {
    const errors = mapApiErrors(
      { user: { email: ["A user with that email already exists."], non_field_errors: ["Nested."] } },
      { "user.email": "email" },
    );
    expect(errors.fields).toEqual({ email: ["A user with that email already exists."] });
    expect(errors.general).toEqual(["Nested."]);
  });

  it("puts detail in the alert and drops simplejwt's code and messages", () => {
    const errors = mapApiErrors(
      {
        detail: "Given token not valid for any token type",
        code: "token_not_valid",
        messages: [{ token_class: "AccessToken", token_type: "access", message: "Token is invalid" }],
      },
      {},
    );
    expect(errors).toEqual({ fields: {}, general: ["Given token not valid for any token type"] });
  });

  it("names fields the form does not show", () => {
    expect(mapApiErrors({ profile: ["This field may not be null."] }, {}).general).toEqual([
      "Profile: This field may not be null.",
    ]);
  });
});

describe("formErrorsFrom", () => {
  it("uses the detail of a 401", () => {
    const error = new ApiError(401, { detail: "No active account found with the given credentials" });
    expect(formErrorsFrom(error, {}).general).toEqual(["No active account found with the given credentials"]);
  });

  it("describes server errors without a JSON body", () => {
    expect(formErrorsFrom(new ApiError(502, "Bad Gateway"), {}).general[0]).toMatch(/HTTP 502/);
  });

  it("reports network errors", () => {
    expect(formErrorsFrom(new NetworkError(), {}).general[0]).toMatch(/Could not reach the server/);
  });
});

describe("isEmailNotVerified", () => {
  it("recognises the login answer for an address not verified yet, and nothing else", () => {
    expect(isEmailNotVerified(new ApiError(400, { non_field_errors: ["E-mail is not verified."] }))).toBe(true);
    expect(isEmailNotVerified(new ApiError(400, { non_field_errors: ["Something else."] }))).toBe(false);
    expect(isEmailNotVerified(new ApiError(401, { detail: "No active account found with the given credentials" }))).toBe(
      false,
    );
    expect(isEmailNotVerified(new NetworkError())).toBe(false);
  });
});
