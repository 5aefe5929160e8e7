-- Verify queries for examples/change.sql: read-only, run before and after the change so the pair
-- and the product owner see what it did.

SELECT id, given_name, family_name, email_address, updated_at
FROM app_public.app_user
WHERE sub = '5f0c7a42-9d1e-4c3b-8a6f-2b7e1d9c4a10';

SELECT s.status, s.change_reason, s.created_at
FROM app_public.application_status s
JOIN app_public.application a ON a.id = s.application_id
WHERE a.application_number = 'CCBC-010042'
ORDER BY s.created_at DESC
LIMIT 3;
