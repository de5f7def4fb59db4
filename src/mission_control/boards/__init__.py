"""Boards and board groups: the units of work agents are attached to."""
