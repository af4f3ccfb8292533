DROP TABLE member_stream_events;
DROP TABLE member_stream_heads;
