"""Tasks on boards: status flow, dependencies, comments, tags and custom fields."""
