# cloudapi served by gunicorn from the app factory. Configure with DATABASE_URL etc.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY setup.cfg pyproject.toml README.md alembic.ini ./
COPY cloudapi ./cloudapi
COPY migrations ./migrations
COPY flags ./flags
RUN pip install --no-cache-dir -e . && useradd --system --home /app cloudapi \
    && mkdir -p /app/instance && chown cloudapi /app/instance
USER cloudapi
EXPOSE 8000
# Migrate, then serve; gunicorn workers each build their own app after fork. `cloudapi
# serve` runs gunicorn with request limits above the app's, so clients get JSON errors.
CMD ["sh", "-c", "cloudapi db upgrade && exec cloudapi serve --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-4} --threads 4"]
