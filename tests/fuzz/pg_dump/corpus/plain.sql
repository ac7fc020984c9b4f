--
-- PostgreSQL database dump
--

\restrict 9e3sLgkbZ0Kq2x7JhTqYqfEwYq3L5mBn

-- Dumped from database version 15.8 (Debian 15.8-0+deb12u1)
-- Dumped by pg_dump version 15.8 (Debian 15.8-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: customers; Type: TABLE; Schema: public; Owner: shop
--

CREATE TABLE public.customers (
    id integer NOT NULL,
    name text NOT NULL,
    note text DEFAULT 'it''s $1 \ fine'::text
);


ALTER TABLE public.customers OWNER TO shop;

CREATE UNLOGGED TABLE "My Schema"."Weird ""Name""" (x int);

CREATE FUNCTION public.f() RETURNS text
    LANGUAGE sql
    AS $_$select 'a;b'$_$;

--
-- Data for Name: customers; Type: TABLE DATA; Schema: public; Owner: shop
--

COPY public.customers (id, name, note) FROM stdin;
1	Alice	\N
2	Bob \\ backslash	tab\there
\.


INSERT INTO public.customers VALUES (3, 'Carol', E'x\'y');

--
-- PostgreSQL database dump complete
--

\unrestrict 9e3sLgkbZ0Kq2x7JhTqYqfEwYq3L5mBn

