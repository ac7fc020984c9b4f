-- PostgreSQL database dump
SET x = 1;
SELECT 1;
\! id
\copy t to /tmp/x
select :LAST_ERROR_MESSAGE;
