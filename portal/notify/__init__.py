"""Messages to patients and staff: an outbox table first, then channels that deliver."""
