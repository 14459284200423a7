-- Tells every API process that an API key or a merchant changed: its cache of
-- authenticated keys forgets what it remembered (triggers api_key_auth_changed,
-- merchant_auth_changed; one notification per statement).
CREATE OR REPLACE FUNCTION notify_auth_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sandbox_auth', TG_TABLE_NAME);
    RETURN NULL;
END $$ LANGUAGE plpgsql;
