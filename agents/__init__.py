"""Language-model agents for Stable-Baselines3."""
