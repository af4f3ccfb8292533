-- Run once by the postgres image on an empty volume, as its superuser: Guild connects as `guild`,
-- which is not a superuser. It owns the `guild` database (so migrations can create its tables),
-- may create databases (the test suite makes one per test) and roles (the first migration creates
-- `guild_app`, the role tenant transactions switch to), and has BYPASSRLS for the work that spans
-- tenants on purpose (sign-in, a user's memberships, the worker). Tenant transactions run as
-- `guild_app`, which has no BYPASSRLS and owns nothing, so row-level security holds there.
CREATE ROLE guild LOGIN PASSWORD 'guild' NOSUPERUSER CREATEDB CREATEROLE BYPASSRLS;
CREATE DATABASE guild OWNER guild;
