"""Rule-engine unit test material: helpers and bad rule files with their expected errors."""
