-- Fills the sample schema with fabricated rows: :applications applications (psql variable), one
-- user per ten applications, five intakes, one status row per application. Names and addresses
-- are invented; e-mail addresses are on example.com. Deterministic for a given count.
-- Runs as the superuser with triggers off (session_replication_role), so loading a million rows
-- does not also write a million audit records.
\set ON_ERROR_STOP 1
SET session_replication_role = replica;

INSERT INTO app_public.app_user (sub, given_name, family_name, email_address)
SELECT md5('datafix-user-' || i)::uuid,
       (ARRAY['Avery', 'Blake', 'Casey', 'Devon', 'Emery', 'Finley', 'Harper', 'Jules',
              'Kendall', 'Morgan', 'Parker', 'Quinn', 'Reese', 'Rowan', 'Sawyer'])[1 + i % 15],
       (ARRAY['Alderwood', 'Birchfield', 'Cedarholm', 'Dunmore', 'Elmsworth', 'Fernbrook',
              'Glenmoor', 'Hollins', 'Ivybridge', 'Larkspur', 'Millbrook'])[1 + i % 11],
       'applicant' || i || '@example.com'
FROM generate_series(1, greatest(:applications / 10, 10)) AS i;

INSERT INTO app_public.intake (intake_number, open_timestamp, close_timestamp)
SELECT n, timestamptz '2025-01-01' + (n - 1) * interval '3 months',
       timestamptz '2025-01-01' + n * interval '3 months' - interval '1 day'
FROM generate_series(1, 5) AS n;

INSERT INTO app_public.application (application_number, owner, form_data, intake_id)
SELECT 'APP-' || lpad(i::text, 7, '0'),
       1 + i % greatest(:applications / 10, 10),
       jsonb_build_object('projectTitle', 'Fabricated project ' || i,
                          'households', i % 500,
                          'contactEmail', 'contact' || i || '@example.com'),
       1 + i % 5
FROM generate_series(1, :applications) AS i;

INSERT INTO app_public.application_status (application_id, status, change_reason)
SELECT a.id, 'submitted', 'initial submission'
FROM app_public.application a;

RESET session_replication_role;
ANALYZE;
