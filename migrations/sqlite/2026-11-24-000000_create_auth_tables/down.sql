DROP TABLE refresh_tokens;
DROP TABLE profiles;
DROP TABLE users;
