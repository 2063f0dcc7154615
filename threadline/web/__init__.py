"""The web app: review queue, timeline, connections, people, schedules and a cited ask box."""
