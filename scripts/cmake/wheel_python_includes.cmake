# Injected with -DCMAKE_PROJECT_INCLUDE=... by scripts/setup_ros_env.sh when it builds an interface package.
#
# The ROS 2 wheels on PyPI were built in a manylinux image, and their exported
# <pkg>::<pkg>__rosidl_generator_py targets name that image's Python and NumPy header directories
# (/opt/python/cp311-cp311/...). Instead of recreating those paths on this machine, the deferred call below
# runs at the end of configuring (after rosidl_generate_interfaces imported the targets) and replaces every
# Python/NumPy header directory of an imported target with this environment's (WHEEL_PYTHON_INCLUDE_DIRS).
cmake_minimum_required(VERSION 3.21)  # IMPORTED_TARGETS directory property, cmake_language(DEFER)

if(NOT WHEEL_PYTHON_INCLUDE_DIRS)
  message(FATAL_ERROR "wheel_python_includes.cmake: set WHEEL_PYTHON_INCLUDE_DIRS (Python and NumPy headers)")
endif()

function(_wheel_python_includes_relocate)
  get_property(targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(dirs "${target}" INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT dirs)
      continue()
    endif()
    set(kept "")
    set(replaced FALSE)
    foreach(dir IN LISTS dirs)
      if(dir MATCHES "/include/python3\\.[0-9]+$" OR dir MATCHES "/numpy/(_core/|core/)?include$")
        set(replaced TRUE)
      else()
        list(APPEND kept "${dir}")
      endif()
    endforeach()
    if(replaced)
      list(APPEND kept ${WHEEL_PYTHON_INCLUDE_DIRS})
      set_target_properties("${target}" PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${kept}")
    endif()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _wheel_python_includes_relocate)
