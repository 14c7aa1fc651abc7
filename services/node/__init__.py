"""``zvh-node``: the launcher that runs a region's services, and its status document."""
