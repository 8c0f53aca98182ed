"""Satisfaction surveys and service levels: tickets, eligibility, signed links, dispatch, responses,
scores and SLAs. IO lives in connectors/; these modules decide and compute."""
