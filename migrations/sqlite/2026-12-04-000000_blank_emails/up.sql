-- Django allows a blank e-mail address (EmailField(blank=True)), and users imported from it keep
-- theirs; blank is "no address", so only addresses are unique. The API never writes a blank one.
-- SQLite's lower() folds ASCII letters only, as before.
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email <> '';
