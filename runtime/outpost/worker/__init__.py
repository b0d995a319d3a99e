"""The worker: takes runs off the tier queues and drives an agent CLI through each."""
