//! Report definitions and their renderers (HTML with inline SVG charts, CSV,
//! JSON, terminal tables). Empty until the report stage lands.
