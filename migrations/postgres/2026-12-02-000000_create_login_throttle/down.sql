DROP TABLE login_throttle_accounts;
DROP TABLE login_throttle_addresses;
