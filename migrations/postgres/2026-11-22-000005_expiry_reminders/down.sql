DROP TABLE expiry_reminders;
