"""Tables: where they come from, the opened :class:`~dashboard.data.dataset.Dataset`, its
float32 matrix, sampling and metadata filters."""
