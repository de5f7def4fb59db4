"""Provisioning: what an agent's gateway state should be (plans) and making it so (executor)."""
