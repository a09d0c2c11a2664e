// Compiles the precompiled header of its target (cmake/pch.cmake); nothing else.
