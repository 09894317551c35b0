DELETE FROM platform_properties WHERE name = 'days_to_action_removal';
DROP TABLE removal_requests;
DROP TABLE invitations;
DROP TABLE outbox;
