"""What is written from the figures' sidecars: the findings registry for the notebooks' closing cells
(findings), the README's generated sections (readme), rerun checks (reruns) and benchmark records
(benchreport)."""
