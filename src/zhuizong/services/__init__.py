"""Services: all business logic; the CLI, web pages and API call these."""
