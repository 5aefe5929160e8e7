-- The sample application schema datafix is tested against: a grant-application system of the
-- kind the team runs, with the features that make hand-made data changes dangerous: triggers that
-- record who changed a row, a trigger refusing updates to archived rows, an audit trigger writing
-- every change into record_version, FORCE'd row-level security, and an owner role that is not a
-- superuser. All data loaded into it is fabricated.
\set ON_ERROR_STOP 1

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_owner') THEN
        CREATE ROLE app_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datafix_login') THEN
        CREATE ROLE datafix_login LOGIN PASSWORD 'datafix-test-password';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_web') THEN
        CREATE ROLE app_web LOGIN PASSWORD 'app-web-test-password';
    END IF;
    -- Owns the application's private tables; reached only through SECURITY DEFINER functions.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_internal') THEN
        CREATE ROLE app_internal NOLOGIN;
    END IF;
END
$roles$;

-- datafix logs in as datafix_login and SET ROLEs to app_owner; it never owns anything itself.
GRANT app_owner TO datafix_login;

CREATE SCHEMA app_public AUTHORIZATION app_owner;
GRANT USAGE ON SCHEMA app_public TO app_web;

SET ROLE app_owner;

CREATE TABLE app_public.app_user (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sub uuid NOT NULL UNIQUE,
    given_name text,
    family_name text,
    email_address text,
    created_by integer REFERENCES app_public.app_user (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by integer REFERENCES app_public.app_user (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_by integer REFERENCES app_public.app_user (id),
    archived_at timestamptz
);

CREATE TABLE app_public.intake (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intake_number integer NOT NULL UNIQUE,
    open_timestamp timestamptz NOT NULL,
    close_timestamp timestamptz NOT NULL,
    created_by integer REFERENCES app_public.app_user (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by integer REFERENCES app_public.app_user (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_by integer REFERENCES app_public.app_user (id),
    archived_at timestamptz,
    CHECK (open_timestamp < close_timestamp)
);

CREATE TABLE app_public.application (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_number text UNIQUE,
    owner integer NOT NULL REFERENCES app_public.app_user (id),
    form_data jsonb NOT NULL DEFAULT '{}'::jsonb,
    intake_id integer REFERENCES app_public.intake (id),
    created_by integer REFERENCES app_public.app_user (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by integer REFERENCES app_public.app_user (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_by integer REFERENCES app_public.app_user (id),
    archived_at timestamptz
);
CREATE INDEX application_owner_idx ON app_public.application (owner);
CREATE INDEX application_intake_idx ON app_public.application (intake_id);

CREATE TABLE app_public.status_type (
    name text PRIMARY KEY,
    description text NOT NULL
);

-- Insert-only history: the application may only add rows (see the grants below).
CREATE TABLE app_public.application_status (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id integer NOT NULL REFERENCES app_public.application (id) ON DELETE CASCADE,
    status text NOT NULL REFERENCES app_public.status_type (name),
    change_reason text,
    created_by integer REFERENCES app_public.app_user (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by integer REFERENCES app_public.app_user (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_by integer REFERENCES app_public.app_user (id),
    archived_at timestamptz
);
CREATE INDEX application_status_application_idx ON app_public.application_status (application_id);

-- Every insert, update and delete, as jsonb, written by the audit trigger.
CREATE TABLE app_public.record_version (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    op text NOT NULL,
    table_name text NOT NULL,
    record jsonb,
    old_record jsonb,
    changed_at timestamptz NOT NULL DEFAULT now(),
    db_user text NOT NULL DEFAULT current_user
);

INSERT INTO app_public.status_type (name, description) VALUES
    ('draft', 'started, not submitted'),
    ('submitted', 'submitted by the applicant'),
    ('received', 'received by the program'),
    ('withdrawn', 'withdrawn by the applicant'),
    ('approved', 'approved for funding');

-- Fills the _at/_by columns from the session's jwt.claims.sub (the application sets it per request;
-- datafix sets it per environment so a hand-made change is attributed too).
CREATE FUNCTION app_public.update_timestamps() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    user_sub text := current_setting('jwt.claims.sub', true);
    user_id integer;
BEGIN
    IF user_sub IS NOT NULL AND user_sub <> '' THEN
        SELECT id INTO user_id FROM app_public.app_user WHERE sub = user_sub::uuid;
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
        NEW.created_by := coalesce(NEW.created_by, user_id);
    END IF;
    NEW.updated_at := now();
    NEW.updated_by := user_id;
    IF TG_OP = 'UPDATE' AND NEW.archived_at IS NOT NULL AND OLD.archived_at IS NULL THEN
        NEW.archived_by := coalesce(NEW.archived_by, user_id);
    END IF;
    RETURN NEW;
END
$fn$;

CREATE FUNCTION app_public.refuse_archived_update() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF OLD.archived_at IS NOT NULL THEN
        RAISE EXCEPTION 'row % of % is archived and cannot be updated', OLD.id, TG_TABLE_NAME
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$fn$;

CREATE FUNCTION app_public.audit_record() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO app_public.record_version (op, table_name, record, old_record)
    VALUES (TG_OP, TG_TABLE_NAME,
            CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END);
    RETURN NULL;
END
$fn$;

DO $triggers$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['app_user', 'intake', 'application', 'application_status'] LOOP
        EXECUTE format('CREATE TRIGGER _050_refuse_archived BEFORE UPDATE ON app_public.%I '
                       'FOR EACH ROW EXECUTE FUNCTION app_public.refuse_archived_update()', t);
        EXECUTE format('CREATE TRIGGER _100_timestamps BEFORE INSERT OR UPDATE ON app_public.%I '
                       'FOR EACH ROW EXECUTE FUNCTION app_public.update_timestamps()', t);
        EXECUTE format('CREATE TRIGGER _500_audit AFTER INSERT OR UPDATE OR DELETE ON app_public.%I '
                       'FOR EACH ROW EXECUTE FUNCTION app_public.audit_record()', t);
    END LOOP;
END
$triggers$;

-- FORCE: even the owner is subject to the policies, as in the real application.
ALTER TABLE app_public.application ENABLE ROW LEVEL SECURITY;
ALTER TABLE app_public.application FORCE ROW LEVEL SECURITY;
CREATE POLICY app_owner_all ON app_public.application TO app_owner USING (true) WITH CHECK (true);
CREATE POLICY app_web_own ON app_public.application TO app_web
    USING (owner = (SELECT id FROM app_public.app_user
                    WHERE sub::text = current_setting('jwt.claims.sub', true)));

-- An attachment outlives its application: ON DELETE SET NULL. Deleting one is logged by a rule.
CREATE TABLE app_public.attachment (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id integer REFERENCES app_public.application (id) ON DELETE SET NULL,
    file_name text NOT NULL,
    created_by integer REFERENCES app_public.app_user (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by integer REFERENCES app_public.app_user (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_by integer REFERENCES app_public.app_user (id),
    archived_at timestamptz
);
CREATE INDEX attachment_application_idx ON app_public.attachment (application_id);
CREATE TRIGGER _100_timestamps BEFORE INSERT OR UPDATE ON app_public.attachment
    FOR EACH ROW EXECUTE FUNCTION app_public.update_timestamps();
CREATE TRIGGER _500_audit AFTER INSERT OR UPDATE OR DELETE ON app_public.attachment
    FOR EACH ROW EXECUTE FUNCTION app_public.audit_record();

CREATE TABLE app_public.deleted_attachment (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attachment_id integer NOT NULL,
    file_name text NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE RULE log_attachment_delete AS ON DELETE TO app_public.attachment
    DO ALSO INSERT INTO app_public.deleted_attachment (attachment_id, file_name)
    VALUES (OLD.id, OLD.file_name);

-- A new status archives the application's previous current status (an UPDATE of another row of
-- the same table, which _050_refuse_archived then protects).
CREATE FUNCTION app_public.archive_previous_status() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE app_public.application_status
    SET archived_at = now()
    WHERE application_id = NEW.application_id AND id <> NEW.id AND archived_at IS NULL;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER _200_archive_previous AFTER INSERT ON app_public.application_status
    FOR EACH ROW EXECUTE FUNCTION app_public.archive_previous_status();

GRANT SELECT, INSERT, UPDATE ON app_public.app_user, app_public.intake, app_public.application
    TO app_web;
GRANT SELECT, INSERT ON app_public.application_status, app_public.record_version TO app_web;
GRANT SELECT ON app_public.status_type TO app_web;

RESET ROLE;

-- A revert may restore with triggers off (revert_without_triggers), as PostgreSQL 15 lets a
-- superuser grant this one setting to the application's role.
GRANT SET ON PARAMETER session_replication_role TO app_owner;

-- The program's private work queue: owned by app_internal, written by a SECURITY DEFINER trigger
-- function that runs as its owner, so the application's role needs no privilege on it.
CREATE SCHEMA app_private AUTHORIZATION app_internal;
GRANT USAGE ON SCHEMA app_private TO app_owner;
SET ROLE app_internal;
CREATE TABLE app_private.review_queue (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id integer NOT NULL,
    status text NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION app_private.queue_for_review() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
    IF NEW.status = 'received' THEN
        INSERT INTO app_private.review_queue (application_id, status)
        VALUES (NEW.application_id, NEW.status);
    END IF;
    RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION app_private.queue_for_review() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_private.queue_for_review() TO app_owner;
-- datafix reads what the trigger wrote (its evidence), nothing more.
GRANT SELECT ON app_private.review_queue TO app_owner;
RESET ROLE;
SET ROLE app_owner;
CREATE TRIGGER _300_queue_for_review AFTER INSERT ON app_public.application_status
    FOR EACH ROW EXECUTE FUNCTION app_private.queue_for_review();
-- Intakes are read by changes (subqueries) and FORCE row security applies to them too.
ALTER TABLE app_public.intake ENABLE ROW LEVEL SECURITY;
ALTER TABLE app_public.intake FORCE ROW LEVEL SECURITY;
CREATE POLICY app_owner_all ON app_public.intake TO app_owner USING (true) WITH CHECK (true);
CREATE POLICY app_web_open ON app_public.intake FOR SELECT TO app_web
    USING (now() BETWEEN open_timestamp AND close_timestamp);
RESET ROLE;

-- The application's own functions, as a change or a verify query may call them (pre-flight
-- vouches for each or refuses it; see src/targetdb/README.md).
SET ROLE app_owner;

-- A plain sql helper: IMMUTABLE, reads nothing, calls only PostgreSQL's data functions.
CREATE FUNCTION app_public.normalize_name(name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT initcap(btrim(name))
$fn$;

-- Changes to an application's form are logged by the application itself, not by a trigger.
CREATE TABLE app_public.form_change (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id integer NOT NULL REFERENCES app_public.application (id),
    changed_keys text[] NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- A plpgsql helper that writes that log and returns the form it was given.
CREATE FUNCTION app_public.record_form_change(application_id integer, form_data jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO app_public.form_change (application_id, changed_keys)
    VALUES (record_form_change.application_id,
            ARRAY(SELECT jsonb_object_keys(record_form_change.form_data)));
    RETURN form_data;
END
$fn$;

-- Touches a row of any table by name: dynamic SQL.
CREATE FUNCTION app_public.touch_row(table_name text, row_id integer) RETURNS integer
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format('UPDATE app_public.%I SET updated_at = now() WHERE id = $1', table_name)
        USING row_id;
    RETURN row_id;
END
$fn$;

-- The signed-in user's id, whatever row security lets the caller see: SECURITY DEFINER.
CREATE FUNCTION app_public.current_user_id() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app_public AS $fn$
    SELECT id FROM app_user WHERE sub::text = current_setting('jwt.claims.sub', true)
$fn$;

GRANT SELECT, INSERT ON app_public.form_change TO app_web;
RESET ROLE;

-- Functions a change reaches without calling them by name, which pre-flight follows as it follows
-- calls: an operator comparing ids (OPERATOR(app_public.===) runs app_public.same_id), and a
-- function with a SQL-standard body, which pre-flight reads with pg_get_functiondef.
SET ROLE app_owner;
CREATE FUNCTION app_public.same_id(a integer, b integer) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT a = b
$fn$;
CREATE OPERATOR app_public.=== (LEFTARG = integer, RIGHTARG = integer,
                                FUNCTION = app_public.same_id);
CREATE FUNCTION app_public.display_name(given text, family text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN btrim(coalesce(given, '') || ' ' || coalesce(family, ''));
RESET ROLE;
