-- Fails while two users have blank addresses, as it must: the old index cannot hold them.
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
