-- Roles given to a user directly (space-separated), and the upstream groups
-- seen at their last sign-in; the configuration maps both to permissions.
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '';
