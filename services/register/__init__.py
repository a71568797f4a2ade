"""The HSE risk register: shared by the API and the scorer."""
