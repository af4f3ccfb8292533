//! Rate limiting: fixed windows in Redis (several instances) or in memory (one instance).
