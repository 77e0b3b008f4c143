"""What operators edit: settings, program files and message templates."""
