--
-- PostgreSQL database cluster dump
--

SET default_transaction_read_only = off;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE ROLE backup;
ALTER ROLE backup WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;

\connect template1

--
-- PostgreSQL database dump
--

CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8';
\connect shop
CREATE TABLE public.t (a int);
COPY public.t (a) FROM stdin;
1
\.
-- PostgreSQL database dump complete
-- PostgreSQL database cluster dump complete
