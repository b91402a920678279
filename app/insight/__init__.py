"""The insight report: how incident response is going, with honest numbers and charts."""
