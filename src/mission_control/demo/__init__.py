"""The built-in DEMO parts of Mission Control: a scripted offline model (not an AI: it only
makes agents check in), its gateway provider configuration, and the try-it path that puts a
local gateway, the demo model and Mission Control together. For trying Mission Control out and
for the test suite; a real fleet uses a real model provider (docs/models.md)."""
