"""The Dash app: its factory, page skeleton, routes, shareable links, jobs and panel
isolation."""
