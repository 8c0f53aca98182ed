"""shopops: the operations pipeline of a multi-marketplace retailer."""
