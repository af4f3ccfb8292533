-- Learning content: modules of ordered sections, categories, tags, prerequisites, mentors, and
-- assignment to groups. Every table is tenant-owned: composite keys and references that start
-- with tenant_id, and a row-level security policy.

-- Whether published modules that are not assigned to any of a member's groups are open to them.
ALTER TABLE tenants ADD COLUMN catalog_open boolean NOT NULL DEFAULT false;

CREATE TABLE module_categories (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX module_categories_name_key ON module_categories (tenant_id, lower(name));

CREATE TABLE tags (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX tags_name_key ON tags (tenant_id, lower(name));

CREATE TABLE modules (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    status text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'PUBLISHED', 'ARCHIVED')),
    difficulty text NOT NULL DEFAULT 'BEGINNER'
        CHECK (difficulty IN ('BEGINNER', 'INTERMEDIATE', 'ADVANCED')),
    cover_image_url text CHECK (length(cover_image_url) <= 2048),
    category_id uuid,
    estimated_minutes integer CHECK (estimated_minutes > 0),
    validity_months integer CHECK (validity_months > 0),
    created_by uuid NOT NULL,
    revision integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    published_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, category_id) REFERENCES module_categories (tenant_id, id)
        ON DELETE SET NULL (category_id)
);
CREATE INDEX modules_status_idx ON modules (tenant_id, status);
CREATE INDEX modules_category_idx ON modules (tenant_id, category_id);
CREATE INDEX modules_created_by_idx ON modules (tenant_id, created_by);

CREATE TABLE module_tags (
    tenant_id uuid NOT NULL,
    module_id uuid NOT NULL,
    tag_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, module_id, tag_id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, tag_id) REFERENCES tags (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX module_tags_tag_idx ON module_tags (tenant_id, tag_id);

CREATE TABLE module_mentors (
    tenant_id uuid NOT NULL,
    module_id uuid NOT NULL,
    user_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, module_id, user_id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX module_mentors_user_idx ON module_mentors (tenant_id, user_id);

CREATE TABLE module_prerequisites (
    tenant_id uuid NOT NULL,
    module_id uuid NOT NULL,
    prerequisite_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, module_id, prerequisite_id),
    CHECK (module_id <> prerequisite_id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, prerequisite_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE sections (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    module_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    kind text NOT NULL DEFAULT 'TEXT' CHECK (kind IN ('TEXT', 'VIDEO', 'ATTACHMENT', 'MIXED')),
    content_html text NOT NULL DEFAULT '' CHECK (length(content_html) <= 500000),
    video_source text CHECK (video_source IN ('YOUTUBE_VIMEO_URL', 'UPLOAD', 'CLOUDFLARE_STREAM', 'TARGETVIDEO')),
    video_ref text CHECK (length(video_ref) <= 2048),
    sort_order integer NOT NULL,
    revision integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    CHECK ((video_source IS NULL) = (video_ref IS NULL))
);
CREATE INDEX sections_module_idx ON sections (tenant_id, module_id, sort_order);

CREATE TABLE module_groups (
    tenant_id uuid NOT NULL,
    module_id uuid NOT NULL,
    group_id uuid NOT NULL,
    deadline_days integer CHECK (deadline_days > 0),
    is_mandatory boolean NOT NULL DEFAULT false,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, module_id, group_id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX module_groups_group_idx ON module_groups (tenant_id, group_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['module_categories', 'tags', 'modules', 'module_tags', 'module_mentors',
                             'module_prerequisites', 'sections', 'module_groups']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO guild_app', t);
    END LOOP;
END
$$;
