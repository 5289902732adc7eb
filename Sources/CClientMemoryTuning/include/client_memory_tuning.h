// The CLI's malloc settings: a strong definition of `uploader_malloc_settings`.
