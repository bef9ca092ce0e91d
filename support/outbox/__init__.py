"""The 客服消息 outbox: what must still reach a WeChat user, delivered with retries."""
