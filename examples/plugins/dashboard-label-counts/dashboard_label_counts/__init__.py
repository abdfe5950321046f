"""An example panel plugin: how the selected points split over the label's values."""
