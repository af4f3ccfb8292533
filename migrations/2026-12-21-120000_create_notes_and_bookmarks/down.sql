DROP TABLE last_sections;
DROP TABLE section_bookmarks;
DROP TABLE section_notes;
