"""Board onboarding: the gateway-main agent interviews the user about the board's goal."""
