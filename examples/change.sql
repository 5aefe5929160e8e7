-- Change request: the applicant of application CCBC-010042 mistyped her e-mail address when she
-- registered and asked the program, by phone, to correct it; the program also records the
-- application as submitted again with the corrected contact details (a new status archives the
-- previous one). All names and addresses here are fabricated.

UPDATE app_public.app_user
SET email_address = 'maria.okafor@example.com'
WHERE sub = '5f0c7a42-9d1e-4c3b-8a6f-2b7e1d9c4a10'
  AND email_address = 'maria.okafor@exmaple.com'
  AND archived_at IS NULL;

INSERT INTO app_public.application_status (application_id, status, change_reason)
SELECT a.id, 'submitted', 'contact e-mail corrected at the applicant''s request'
FROM app_public.application a
WHERE a.application_number = 'CCBC-010042';
