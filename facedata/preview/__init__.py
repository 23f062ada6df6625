"""Pictures of what a build generated."""
