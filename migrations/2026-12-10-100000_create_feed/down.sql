DROP TABLE feed_seen;
DROP TABLE feed_replies;
DROP TABLE feed_saves;
DROP TABLE feed_posts;
