"""Running the product: the load gate before the operational flows, backfills."""
