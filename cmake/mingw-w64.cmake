# Cross-build for 64-bit Windows with Debian's mingw-w64 (posix threads, so
# std::thread and std::mutex work). Used by `scripts/build.sh mingw`.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(_mingw x86_64-w64-mingw32)

find_program(CMAKE_C_COMPILER NAMES ${_mingw}-gcc-posix ${_mingw}-gcc REQUIRED)
find_program(CMAKE_CXX_COMPILER NAMES ${_mingw}-g++-posix ${_mingw}-g++ REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${_mingw}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${_mingw})
# Programs from the host, libraries and headers only from the target sysroot.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The mingw runtime (libgcc, libstdc++, winpthread) goes into every binary, so
# iocpnet.dll and the .exe run on a bare Windows with nothing beside them.
# -static only affects -l lookups; iocpnet.dll itself stays a DLL (CMake
# passes its import library by full path).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -static")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -static")
# A target's own options may switch the linker back with -Wl,-Bdynamic before
# g++ appends -lstdc++ (so the import library would win): name the static
# archives explicitly at the end of every C++ link too. A cache entry (the
# Windows-GNU platform file then keeps it), forced so that a build folder
# configured with an older toolchain gets it too.
set(CMAKE_CXX_STANDARD_LIBRARIES
    "-Wl,-Bstatic -lstdc++ -lwinpthread -Wl,-Bdynamic -lws2_32 -lkernel32 -luser32 -ladvapi32"
    CACHE STRING "Libraries linked into every C++ target (mingw runtime static)" FORCE)

# ctest, catch_discover_tests and add_test run the .exe under Wine, through a
# wrapper that gives each build folder its own quiet prefix
# (<build>/wineprefix, created on first use).
find_program(IOCPNET_WINE NAMES wine64 wine)
if(IOCPNET_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/../scripts/wine-env.sh)
endif()

# Catch2 2.x is header-only and installed for the host (/usr/include/catch2,
# /usr/lib/cmake/Catch2). Its package lies outside the target root, and its
# include directory /usr/include would put glibc's headers in front of
# mingw's. So stage it: a copy of the package files whose prefix holds only
# include/catch2 (a link to the host headers); find_package(Catch2) uses it
# (Catch2::Catch2 only).
if(EXISTS /usr/lib/cmake/Catch2/Catch2Config.cmake AND EXISTS /usr/include/catch2/catch.hpp
   AND NOT Catch2_DIR)
  set(_stage ${CMAKE_BINARY_DIR}/catch2-stage)
  file(MAKE_DIRECTORY ${_stage}/include ${_stage}/lib/cmake)
  # Not Catch2Targets-none.cmake: it points Catch2::Catch2WithMain at the
  # host's libCatch2WithMain.a, which a Windows link cannot use.
  file(COPY /usr/lib/cmake/Catch2 DESTINATION ${_stage}/lib/cmake PATTERN "Catch2Targets-*.cmake" EXCLUDE)
  if(NOT EXISTS ${_stage}/include/catch2)
    file(CREATE_LINK /usr/include/catch2 ${_stage}/include/catch2 SYMBOLIC)
  endif()
  set(Catch2_DIR ${_stage}/lib/cmake/Catch2 CACHE PATH "Catch2 package staged for the cross build")
endif()
